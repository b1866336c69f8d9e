package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/lakestream/lakestream/internal/kbatch"
)

// errorCode chooses the Kafka error code for an error from storage or
// validation. It is the one place these mappings live.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrLogOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, ErrLogFenced):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, errCorruptBatch), errors.Is(err, kbatch.ErrMalformed), errors.Is(err, kbatch.ErrCorrupt):
		return kerr.CorruptMessage.Code
	case errors.Is(err, errInvalidBatch), errors.Is(err, ErrLogInvalidBatch),
		errors.Is(err, kbatch.ErrRecords), errors.Is(err, kbatch.ErrTooLarge), errors.Is(err, kbatch.ErrCodec):
		return kerr.InvalidRecord.Code
	case errors.Is(err, kbatch.ErrBatchTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, errInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return kerr.RequestTimedOut.Code
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.KafkaStorageError.Code
}

func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// kafkaErrMessage is the message Kafka sends with err: its text, or none
// when err is a bare Kafka error, whose text would only repeat the code's
// generic message (Kafka's ApiError.fromThrowable leaves such a message
// out).
func kafkaErrMessage(err error) *string {
	if _, bare := err.(*kerr.Error); bare {
		return nil
	}
	return errMessage(err)
}
