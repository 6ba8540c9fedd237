package registry

import (
	"encoding/json"
	"net/http"
)

// Op names one operation of the emulated API. Faults select calls by Op, and
// every recorded Request carries one.
type Op string

// The operations the emulator answers, named as in the HCP Packer API.
const (
	// OpToken is the OAuth2 client-credentials exchange on the auth URL.
	OpToken         Op = "Token"
	OpGetRegistry   Op = "GetRegistry"
	OpGetBucket     Op = "GetBucket"
	OpCreateBucket  Op = "CreateBucket"
	OpUpdateBucket  Op = "UpdateBucket"
	OpGetVersion    Op = "GetVersion"
	OpCreateVersion Op = "CreateVersion"
	// OpUpdateVersion revokes, schedules the revocation of, or restores a
	// version (Packer itself never calls it; users and tools do).
	OpUpdateVersion Op = "UpdateVersion"
	OpListBuilds    Op = "ListBuilds"
	OpCreateBuild   Op = "CreateBuild"
	OpGetBuild      Op = "GetBuild"
	OpUpdateBuild   Op = "UpdateBuild"
	OpUploadSbom    Op = "UploadSbom"
	// OpGetEnforcedBlocks is GetEnforcedBlocksByBucket.
	OpGetEnforcedBlocks Op = "GetEnforcedBlocksByBucket"
	OpGetChannel        Op = "GetChannel"
	OpUpdateChannel     Op = "UpdateChannel"
	// OpListOrganizations and OpListProjects are the resource-manager
	// lookups Packer makes when HCP_ORGANIZATION_ID or HCP_PROJECT_ID is
	// not set.
	OpListOrganizations Op = "OrganizationServiceList"
	OpListProjects      Op = "ProjectServiceList"
	// OpGetIterationChannel and OpGetIteration are the 2021-04-30 reads of
	// the deprecated hcp-packer-iteration and hcp-packer-image data
	// sources: a channel with its iteration, and an iteration.
	OpGetIterationChannel Op = "GetChannel2021"
	OpGetIteration        Op = "GetIteration"
	OpGetOrganization     Op = "OrganizationServiceGet"
	OpGetProject          Op = "ProjectServiceGet"
	// OpUnknown is any request no route matches. It is answered 404 with
	// code 5 and recorded, so a test can notice Packer calling something the
	// emulator does not know (an API drift).
	OpUnknown Op = "Unknown"
)

// Codes of google.rpc.Status that the service puts in error bodies and that
// Packer tests for. Packer matches them in the error text, so the code, not
// the HTTP status, decides how it reacts.
const (
	CodeInvalidArgument    = 3
	CodeDeadlineExceeded   = 4
	CodeNotFound           = 5
	CodeAlreadyExists      = 6
	CodePermissionDenied   = 7
	CodeResourceExhausted  = 8
	CodeFailedPrecondition = 9
	CodeAborted            = 10
	CodeUnimplemented      = 12
	CodeInternal           = 13
	CodeUnavailable        = 14
	CodeUnauthenticated    = 16
)

// httpStatusFor maps a code to the HTTP status the service's gateway uses.
func httpStatusFor(code int) int {
	switch code {
	case CodeInvalidArgument, CodeFailedPrecondition:
		return http.StatusBadRequest
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists, CodeAborted:
		return http.StatusConflict
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeUnimplemented:
		return http.StatusNotImplemented
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// apiError is an error answer: an HTTP status and a google.rpc.Status body.
type apiError struct {
	status  int
	code    int
	message string
	// oauth, when set, is the OAuth2 error code a token fault answers.
	oauth string
}

func (e *apiError) Error() string { return e.message }

func errorf(code int, message string) *apiError {
	return &apiError{status: httpStatusFor(code), code: code, message: message}
}

type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(rpcStatus{Code: CodeInternal, Message: "emulator: encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
