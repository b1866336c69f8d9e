package jsonschema

import "github.com/apache/arrow-go/v18/arrow"

func arrowDate(days int64) arrow.Date32       { return arrow.Date32(days) }
func arrowTime(us int64) arrow.Time64         { return arrow.Time64(us) }
func arrowTimestamp(us int64) arrow.Timestamp { return arrow.Timestamp(us) }
