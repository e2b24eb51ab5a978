"""``sbom``: CycloneDX 1.6 and SPDX 2.3 documents of what a scan found — what is inside each binary (Go modules, the
standard library, build settings) and what it needs from the machine (NEEDED libraries, the interpreter, the minimum
glibc, runtime files), resolved to files and dpkg packages inside its image.

``build.build_sbom`` turns scan results into the typed :class:`model.Sbom`; ``cyclonedx`` and ``spdx`` write it with
the ecosystems' own libraries; ``diff`` compares two releases."""
