// gosymdump is a test oracle: it prints "<package>\t<function>\t<size>" for every function of a Go binary's
// pclntab, as Go's own debug/gosym reads it (Sym.PackageName, End-Entry). The tests compare depfree's package
// lists and sizes with this output.
// Usage: gosymdump FILE (ELF, Mach-O or PE).
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gosymdump FILE")
		os.Exit(2)
	}
	pcln, text, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosymdump:", err)
		os.Exit(1)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pcln, text))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosymdump:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := range tab.Funcs {
		f := &tab.Funcs[i]
		fmt.Fprintf(w, "%s\t%s\t%d\n", f.PackageName(), f.Name, f.End-f.Entry)
	}
}

// load returns the pclntab bytes and the start address of the text.
func load(path string) ([]byte, uint64, error) {
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		s, t := f.Section(".gopclntab"), f.Section(".text")
		if s == nil || t == nil {
			return nil, 0, fmt.Errorf("%s: no .gopclntab or .text section", path)
		}
		b, err := s.Data()
		return b, t.Addr, err
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		s, t := f.Section("__gopclntab"), f.Section("__text")
		if s == nil || t == nil {
			return nil, 0, fmt.Errorf("%s: no __gopclntab or __text section", path)
		}
		b, err := s.Data()
		return b, t.Addr, err
	}
	f, err := pe.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: not an ELF, Mach-O or PE file", path)
	}
	defer f.Close()
	var start, end uint32
	var sect int16
	for _, s := range f.Symbols {
		switch s.Name {
		case "runtime.pclntab":
			start, sect = s.Value, s.SectionNumber
		case "runtime.epclntab":
			end = s.Value
		}
	}
	t := f.Section(".text")
	if sect <= 0 || int(sect) > len(f.Sections) || end <= start || t == nil {
		return nil, 0, fmt.Errorf("%s: no runtime.pclntab symbols", path)
	}
	b, err := f.Sections[sect-1].Data()
	if err != nil || int(end) > len(b) {
		return nil, 0, fmt.Errorf("%s: pclntab outside its section", path)
	}
	var base uint64
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		base = oh.ImageBase
	case *pe.OptionalHeader32:
		base = uint64(oh.ImageBase)
	}
	return b[start:end], base + uint64(t.VirtualAddress), nil
}
