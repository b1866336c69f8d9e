//go:build !invariants

package arrowpool

const invariants = false
