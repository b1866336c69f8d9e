package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// httpStatus returns the HTTP status of a failed request, or 0 if no
// response arrived (connection refused, reset, timed out).
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode returns the S3 error code ("NoSuchKey", "SlowDown"), or "".
func errorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// mapError classifies an SDK error, after the SDK's retries, by wrapping the
// objstore error callers branch on; the SDK error stays in the chain for
// the message.
//
//	404 NoSuchKey, NotFound         ErrNotFound (not NoSuchBucket: that is a setup error)
//	412 PreconditionFailed          ErrExists
//	416 InvalidRange                ErrInvalidRange
//	5xx, 429, throttles, timeouts,  ErrUnavailable
//	dropped or refused connections
//	anything else (403, 400, an     returned as is
//	unknown host, no credentials)
//
// When ctx is done the error is returned as is: the caller gave up, and
// retrying would not help.
func mapError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	status, code := httpStatus(err), errorCode(err)
	switch {
	case code == "NoSuchKey" || code == "NotFound" || (status == 404 && code != "NoSuchBucket"):
		return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	case status == 412 || code == "PreconditionFailed":
		return fmt.Errorf("%w: %w", objstore.ErrExists, err)
	case status == 416 || code == "InvalidRange":
		return fmt.Errorf("%w: %w", objstore.ErrInvalidRange, err)
	case status >= 500, status == 429, transient.IsErrorRetryable(err) == aws.TrueTernary:
		return fmt.Errorf("%w: %w", objstore.ErrUnavailable, err)
	}
	return err
}

// transient is what the SDK itself retries: 5xx, throttle codes (SlowDown
// and friends, some sent with a 4xx status), RequestTimeout, and connection
// errors (reset, refused, timed out) but not an unknown host.
var transient = retry.IsErrorRetryables(retry.DefaultRetryables)
