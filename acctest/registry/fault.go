package registry

import (
	"context"
	"net/http"
)

// Fault makes matching calls fail or stall. Server.Fail and Server.Stall
// create one; its methods narrow which calls it affects. Each fault counts
// the calls it matches on its own; when several faults would affect a call,
// the one added first decides what happens.
//
// Without narrowing, a fault affects every call of its operation until it is
// released. Typical forms:
//
//	s.Fail(registry.OpCreateVersion, 500, registry.CodeInternal, "boom")         // every call
//	s.Fail(registry.OpUpdateBuild, 503, registry.CodeUnavailable, "").Times(1)   // the next call
//	s.Fail(registry.OpGetChannel, 404, registry.CodeNotFound, "gone").Nth(2)     // the second call
//	s.Stall(registry.OpUpdateBuild).When(func(r registry.Request) bool { ... })  // some calls
type Fault struct {
	s       *Server
	op      Op
	when    func(Request) bool
	after   int
	times   int
	err     *apiError
	stall   bool
	applied bool
	seen    int
	hits    int
	done    bool
	hit     chan struct{}
	release chan struct{}
}

// Fail makes calls of op ("" for every operation) fail with the given HTTP
// status and google.rpc code (see the Code constants). A status of 0 means
// the status the service's gateway uses for that code; an empty message
// means "injected fault".
func (s *Server) Fail(op Op, status, code int, message string) *Fault {
	if status == 0 {
		status = httpStatusFor(code)
	}
	if message == "" {
		message = "injected fault"
	}
	return s.addFault(&Fault{op: op, err: &apiError{status: status, code: code, message: message}})
}

// FailToken makes token requests (OpToken) fail the way an OAuth2 server
// does: the HTTP status, and a body {"error": oauthError,
// "error_description": description}, for example 401 "invalid_client" or
// 400 "invalid_grant". (Fail on OpToken answers in the same shape, with
// an error derived from the code.)
func (s *Server) FailToken(status int, oauthError, description string) *Fault {
	if status == 0 {
		status = http.StatusBadRequest
	}
	if oauthError == "" {
		oauthError = "invalid_request"
	}
	if description == "" {
		description = "injected fault"
	}
	return s.addFault(&Fault{op: OpToken, err: &apiError{status: status, code: CodeInvalidArgument, message: description, oauth: oauthError}})
}

// Stall makes calls of op ("" for every operation) wait without an answer
// until Release is called, the caller gives up (its request is cancelled),
// or the server closes (then the call gets 503, code 14). A released call is
// then answered normally. Use Hit to learn when a call is waiting.
func (s *Server) Stall(op Op) *Fault {
	return s.addFault(&Fault{op: op, stall: true, release: make(chan struct{})})
}

func (s *Server) addFault(f *Fault) *Fault {
	f.s = s
	f.hit = make(chan struct{})
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	return f
}

// After leaves the first n matching calls alone.
func (f *Fault) After(n int) *Fault {
	f.s.mu.Lock()
	f.after = n
	f.s.mu.Unlock()
	return f
}

// Times limits the fault to n matching calls (those after the ones After
// leaves alone); later calls are not affected.
func (f *Fault) Times(n int) *Fault {
	f.s.mu.Lock()
	f.times = n
	f.s.mu.Unlock()
	return f
}

// Nth affects only the n-th matching call, counting from 1.
func (f *Fault) Nth(n int) *Fault {
	return f.After(n - 1).Times(1)
}

// When narrows the fault to calls for which match returns true. match gets a
// copy of the request (its Params hold the bucket, fingerprint, build and
// channel; its Body the JSON Packer sent). It runs while the server is
// locked, so it must not call the Server.
func (f *Fault) When(match func(Request) bool) *Fault {
	f.s.mu.Lock()
	f.when = match
	f.s.mu.Unlock()
	return f
}

// Applied makes the affected calls take effect before they are answered
// with the fault: the service made the change, but its answer was an
// error (a reply lost behind a gateway timeout, say). When the call itself
// would fail, its own error is the answer. Without Applied a fault means
// the call never reached the service, except for ALREADY_EXISTS on a
// create, which the service only answers when the object exists: those
// are always applied. Applied has no effect on a stall.
func (f *Fault) Applied() *Fault {
	f.s.mu.Lock()
	f.applied = true
	f.s.mu.Unlock()
	return f
}

// Hits returns how many calls the fault has affected so far.
func (f *Fault) Hits() int {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.hits
}

// Hit returns a channel that is closed when the fault first affects a call:
// for a stall, when a call starts waiting.
func (f *Fault) Hit() <-chan struct{} { return f.hit }

// Release ends the fault: stalled calls go on and are answered normally, and
// later calls are no longer affected. Calling it again does nothing.
func (f *Fault) Release() {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.done {
		return
	}
	f.done = true
	if f.release != nil {
		close(f.release)
	}
}

// createOps are the operations that answer ALREADY_EXISTS when the object
// they create exists.
var createOps = map[Op]bool{OpCreateBucket: true, OpCreateVersion: true, OpCreateBuild: true}

// appliedFault says whether a fault's error comes after the call took
// effect (see Fault.Applied).
func appliedFault(f *Fault, op Op) bool {
	return f.applied || (f.err.code == CodeAlreadyExists && createOps[op])
}

// applyFaults finds the fault that affects req, if any. It returns the
// error to answer with, whether the call takes effect first (applied), or
// abandoned=true when the caller gave up while the call was stalled. A nil
// error means: answer normally.
func (s *Server) applyFaults(ctx context.Context, req *Request) (err *apiError, applied, abandoned bool) {
	s.mu.Lock()
	var hit *Fault
	for _, f := range s.faults {
		if f.done || (f.op != "" && f.op != req.Op) {
			continue
		}
		if f.when != nil && !f.when(req.clone()) {
			continue
		}
		// Every fault counts every call it matches, even one that an
		// earlier fault answers, so Nth(3) always means the third call.
		f.seen++
		inWindow := f.seen > f.after && (f.times == 0 || f.seen <= f.after+f.times)
		if hit != nil || !inWindow {
			continue
		}
		f.hits++
		if f.hits == 1 {
			close(f.hit)
		}
		hit = f
	}
	s.mu.Unlock()

	switch {
	case hit == nil:
		return nil, false, false
	case !hit.stall:
		return hit.err, appliedFault(hit, req.Op), false
	}
	select {
	case <-hit.release:
		return nil, false, false
	case <-ctx.Done():
		return nil, false, true
	case <-s.closing:
		return errorf(CodeUnavailable, "emulator: server closed while the call was stalled"), false, false
	}
}
