"""Go knowledge: build info, pclntab, moduledata, runtime.buildVersion, gccgo signs; Go-version facts live in data/."""
