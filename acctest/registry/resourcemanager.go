package registry

import (
	"fmt"
	"net/http"
)

// rmPrefix is where the resource-manager routes Packer uses live.
const rmPrefix = "/resource-manager/2019-12-10"

// When HCP_ORGANIZATION_ID or HCP_PROJECT_ID is not set, Packer 1.16 finds
// them through the resource-manager API (internal/hcp/api/client.go): it
// lists the organizations and wants exactly one, then lists the projects
// of that organization and takes the oldest. The emulator has one of each:
// the Server's OrganizationID and ProjectID. The shapes follow hcp-sdk-go's
// cloud-resource-manager 2019-12-10 models.

type wireOrganization struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	CreatedAt string            `json:"created_at"`
	State     string            `json:"state"`
	Owner     map[string]string `json:"owner"`
}

type wireResourceID struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type wireProject struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CreatedAt   string         `json:"created_at"`
	Parent      wireResourceID `json:"parent"`
	State       string         `json:"state"`
}

func (s *Server) wireOrganization() wireOrganization {
	return wireOrganization{
		ID: s.OrganizationID, Name: "emulator-organization", CreatedAt: stamp(s.startedAt),
		State: "ACTIVE", Owner: map[string]string{"user": s.ClientID},
	}
}

func (s *Server) wireProject() wireProject {
	// created_at has to be in the past: Packer picks the oldest project
	// created before now.
	return wireProject{
		ID: s.ProjectID, Name: "emulator-project", Description: "the HCP Packer registry emulator's project",
		CreatedAt: stamp(s.startedAt), Parent: wireResourceID{ID: s.OrganizationID, Type: "ORGANIZATION"},
		State: "ACTIVE",
	}
}

// emptyPage is the pagination of a list that fits in one page.
var emptyPage = map[string]string{"next_page_token": "", "previous_page_token": ""}

func (s *Server) listOrganizations(_ *http.Request, _ []byte) (int, any) {
	return ok(map[string]any{"organizations": []wireOrganization{s.wireOrganization()}, "pagination": emptyPage})
}

func (s *Server) getOrganization(r *http.Request, _ []byte) (int, any) {
	if id := r.PathValue("id"); id != s.OrganizationID {
		return errResult(errorf(CodePermissionDenied, fmt.Sprintf("permission denied: organization %q is not %q", id, s.OrganizationID)))
	}
	return ok(map[string]any{"organization": s.wireOrganization()})
}

func (s *Server) listProjects(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	scopeType, scopeID := q.Get("scope.type"), q.Get("scope.id")
	switch {
	case scopeType != "" && scopeType != "ORGANIZATION":
		return errResult(errorf(CodeInvalidArgument, fmt.Sprintf("scope.type %q: only ORGANIZATION is supported", scopeType)))
	case scopeID != "" && scopeID != s.OrganizationID:
		// A service principal sees no other organization.
		return errResult(errorf(CodePermissionDenied, fmt.Sprintf("permission denied: organization %q is not %q", scopeID, s.OrganizationID)))
	}
	return ok(map[string]any{"projects": []wireProject{s.wireProject()}, "pagination": emptyPage})
}

func (s *Server) getProject(r *http.Request, _ []byte) (int, any) {
	if id := r.PathValue("id"); id != s.ProjectID {
		return errResult(errorf(CodePermissionDenied, fmt.Sprintf("permission denied: project %q is not %q", id, s.ProjectID)))
	}
	return ok(map[string]any{"project": s.wireProject()})
}
