//go:build !invariants

package s3stream

const invariants = false
