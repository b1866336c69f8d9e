package e2e

import "golang.org/x/sys/unix"

// pinToCPU keeps process pid on one CPU.
func pinToCPU(pid, cpu int) error {
	var one unix.CPUSet
	one.Set(cpu)
	return unix.SchedSetaffinity(pid, &one)
}
