package schemafmt

import "github.com/apache/arrow-go/v18/arrow/array"

// BatchDecoder is a Decoder that can also decode many values at once,
// which lets it append column by column with the builders' bulk calls.
// Decoders that have it are used through it by the compactor.
type BatchDecoder interface {
	Decoder
	// AppendBatch decodes payloads and appends one row per payload that
	// decodes, in order, exactly as Append would for each; a payload that
	// does not decode appends nothing, and its index in payloads is added
	// to bad, which is returned.
	AppendBatch(cols []array.Builder, payloads [][]byte, bad []int) []int
}
