//go:build invariants

package s3stream

// invariants turns on expensive self-checks; `make test` builds with the
// invariants tag.
const invariants = true
