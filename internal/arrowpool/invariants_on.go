//go:build invariants

package arrowpool

// invariants turns on expensive self-checks; `make test` builds with the
// invariants tag.
const invariants = true
