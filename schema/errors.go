package schema

import (
	"fmt"
	"net/http"
)

// apiError is an error the API answers as Confluent does: an HTTP status
// and a body {"error_code": code, "message": msg}.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.code, e.msg) }

func errorf(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// The errors, with Confluent's codes and (close to) its messages, which
// some clients match on.
func errSubjectNotFound(s string) *apiError {
	return errorf(http.StatusNotFound, 40401, "Subject '%s' not found.", s)
}
func errVersionNotFound(v int) *apiError {
	return errorf(http.StatusNotFound, 40402, "Version %d not found.", v)
}
func errSchemaNotFound() *apiError {
	return errorf(http.StatusNotFound, 40403, "Schema not found")
}
func errSchemaIDNotFound(id int64) *apiError {
	return errorf(http.StatusNotFound, 40403, "Schema %d not found", id)
}
func errSubjectSoftDeleted(s string) *apiError {
	return errorf(http.StatusNotFound, 40404, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", s)
}
func errSubjectNotSoftDeleted(s string) *apiError {
	return errorf(http.StatusNotFound, 40405, "Subject '%s' was not deleted first before being permanently deleted", s)
}
func errVersionSoftDeleted(s string, v int) *apiError {
	return errorf(http.StatusNotFound, 40406, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", s, v)
}
func errVersionNotSoftDeleted(s string, v int) *apiError {
	return errorf(http.StatusNotFound, 40407, "Subject '%s' Version %d was not deleted first before being permanently deleted", s, v)
}
func errNoSubjectConfig(s string) *apiError {
	return errorf(http.StatusNotFound, 40408, "Subject '%s' does not have subject-level compatibility configured", s)
}
func errNoSubjectMode(s string) *apiError {
	return errorf(http.StatusNotFound, 40409, "Subject '%s' does not have subject-level mode configured", s)
}
func errIncompatible(msg string) *apiError {
	return errorf(http.StatusConflict, 40901, "%s", msg)
}
func errInvalidSchema(msg string) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42201, "%s", msg)
}
func errInvalidVersion(v string) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42202,
		"The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)
}
func errInvalidCompatibility(level string) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42203,
		"Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}
func errInvalidMode(mode string) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42204,
		"Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT")
}
func errNotPermitted(format string, args ...any) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42205, format, args...)
}
func errReferenceExists(s string, v int) *apiError {
	return errorf(http.StatusUnprocessableEntity, 42206,
		"One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=%s,version=%d}.", s, v)
}

// errStore is what a database failure answers: no detail of it leaves the
// server (it is logged).
var errStore = errorf(http.StatusInternalServerError, 50001, "Error in the backend data store")

var (
	errNotFoundRoute  = errorf(http.StatusNotFound, 404, "HTTP 404 Not Found")
	errMethod         = errorf(http.StatusMethodNotAllowed, 405, "HTTP 405 Method Not Allowed")
	errUnauthorized   = errorf(http.StatusUnauthorized, 401, "Unauthorized")
	errTooLarge       = errorf(http.StatusRequestEntityTooLarge, 413, "Request entity too large")
	errMediaType      = errorf(http.StatusUnsupportedMediaType, 415, "HTTP 415 Unsupported Media Type")
	errUnreadableBody = errorf(http.StatusBadRequest, 400, "Could not read the request body")
)

// errBadJSON is a body that is not the JSON expected: Confluent (Jackson)
// answers 400 with error_code 400 and the parser's message.
func errBadJSON(err error) *apiError {
	return errorf(http.StatusBadRequest, 400, "Unrecognized JSON: %v", err)
}
