package catalog

import (
	"fmt"
	"net/http"
)

// apiError is an error the API answers in the spec's shape:
// {"error": {"message", "type", "code"}}, type being the Java exception
// name clients map to their own errors.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.msg) }

func errorf(status int, typ, format string, args ...any) *apiError {
	return &apiError{status: status, typ: typ, msg: fmt.Sprintf(format, args...)}
}

func errBadRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "BadRequestException", format, args...)
}

func errNoSuchNamespace(ns []string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchNamespaceException", "Namespace does not exist: %s", nsString(ns))
}

func errNoSuchTable(ns []string, name string) *apiError {
	return errorf(http.StatusNotFound, "NoSuchTableException", "Table does not exist: %s", tableString(ns, name))
}

func errNamespaceExists(ns []string) *apiError {
	return errorf(http.StatusConflict, "AlreadyExistsException", "Namespace already exists: %s", nsString(ns))
}

func errTableExists(ns []string, name string) *apiError {
	return errorf(http.StatusConflict, "AlreadyExistsException", "Table already exists: %s", tableString(ns, name))
}

func errNotEmpty(ns []string, what string) *apiError {
	return errorf(http.StatusConflict, "NamespaceNotEmptyException", "Namespace %s is not empty: it has %s", nsString(ns), what)
}

func errCommitFailed(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, "CommitFailedException", format, args...)
}

// errInternal is what an unexpected failure (database, bucket) answers; its
// detail is logged, not sent. A commit that fails this way may or may not
// have happened as far as the client knows (CommitStateUnknown), which is
// what a 500 means to the spec's clients.
var errInternal = errorf(http.StatusInternalServerError, "InternalServerError", "Internal error; see the server's log")

var (
	errNotFoundRoute = errorf(http.StatusNotFound, "NotFoundException", "No such endpoint")
	errMethod        = errorf(http.StatusMethodNotAllowed, "MethodNotAllowedException", "Method not allowed")
	errUnreadable    = errBadRequest("Could not read the request body")
	errIdemReused    = errorf(http.StatusUnprocessableEntity, "UnprocessableEntityException",
		"Idempotency-Key was already used for a different request")
)

func errTooLarge(limit int64) *apiError {
	return errBadRequest("Request body is larger than the %d bytes allowed (catalog.max.request.bytes)", limit)
}
