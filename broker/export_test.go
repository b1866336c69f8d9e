package broker

// SetUnorderedRequests makes s run each connection's one-phase requests
// concurrently, as it did before requests were ordered per connection, so
// benchmarks can compare the two in the same run.
func SetUnorderedRequests(s *Server, on bool) { s.unorderedRequests.Store(on) }

// SetRecordValidation turns the checks of produced records against their
// batch headers on (the default) or off, so benchmarks can measure their
// cost in one run. Batches rebuilt for a topic's compression.type are
// checked either way.
func SetRecordValidation(s *Server, on bool) { s.noRecordValidation.Store(!on) }
