// Package kit has a dotted last path element: its symbols are written as example.com/generics/kit%2ev2.*.
package kit

//go:noinline
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

type Counter struct{ n int }

//go:noinline
func (c Counter) Next() int { return c.n + 1 }
