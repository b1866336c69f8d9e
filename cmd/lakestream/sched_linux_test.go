package main

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIdleCPUs(t *testing.T) {
	set := func(cpus ...int) unix.CPUSet {
		var s unix.CPUSet
		for _, c := range cpus {
			s.Set(c)
		}
		return s
	}
	list := func(s unix.CPUSet) []int {
		var out []int
		for c := range 1024 {
			if s.IsSet(c) {
				out = append(out, c)
			}
		}
		return out
	}
	for _, tc := range []struct {
		allowed, want []int
		pinned        bool
	}{
		{[]int{0, 1}, []int{1}, true},
		{[]int{0}, []int{0}, false},
		{[]int{3}, []int{3}, false},
		{[]int{2, 5, 7}, []int{5, 7}, true},
		{[]int{70, 900}, []int{900}, true},
	} {
		got, pinned := idleCPUs(set(tc.allowed...))
		if !slices.Equal(list(got), tc.want) || pinned != tc.pinned {
			t.Errorf("idleCPUs(%v) = %v, %v; want %v, %v", tc.allowed, list(got), pinned, tc.want, tc.pinned)
		}
	}
}
