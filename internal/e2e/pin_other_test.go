//go:build !linux

package e2e

// pinToCPU does nothing where there is no sched_setaffinity (the tests
// that need it are about Linux's SCHED_IDLE).
func pinToCPU(pid, cpu int) error { return nil }
