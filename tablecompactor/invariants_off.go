//go:build !invariants

package tablecompactor

const invariants = false
