package registry_test

import (
	"net/http"
	"testing"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
)

func TestResourceManagerLookups(t *testing.T) {
	s := registry.NewServer(t)
	c := newAPIClient(t, s)
	const rm = "/resource-manager/2019-12-10"

	status, body := c.raw("GET", rm+"/organizations", nil, "")
	wantError(t, "organizations without a token", status, body, http.StatusUnauthorized, registry.CodeUnauthenticated)

	var raw struct {
		Organizations []map[string]any `json:"organizations"`
	}
	status, body = c.raw("GET", rm+"/organizations", nil, c.token)
	decodeInto(t, body, &raw)
	if status != http.StatusOK || len(raw.Organizations) != 1 || raw.Organizations[0]["id"] != s.OrganizationID || raw.Organizations[0]["state"] != "ACTIVE" {
		t.Errorf("organizations: expected exactly the emulator's organization %s, found %d %s", s.OrganizationID, status, body)
	}

	var projects struct {
		Projects []struct {
			ID        string `json:"id"`
			CreatedAt string `json:"created_at"`
			Parent    struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"parent"`
		} `json:"projects"`
	}
	status, body = c.raw("GET", rm+"/projects?scope.type=ORGANIZATION&scope.id="+s.OrganizationID, nil, c.token)
	decodeInto(t, body, &projects)
	if status != http.StatusOK || len(projects.Projects) != 1 || projects.Projects[0].ID != s.ProjectID ||
		projects.Projects[0].CreatedAt == "" || projects.Projects[0].Parent.ID != s.OrganizationID || projects.Projects[0].Parent.Type != "ORGANIZATION" {
		t.Errorf("projects: expected exactly the emulator's project %s in %s, found %d %s", s.ProjectID, s.OrganizationID, status, body)
	}
	status, body = c.raw("GET", rm+"/projects?scope.type=ORGANIZATION&scope.id=other", nil, c.token)
	wantError(t, "projects of another organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)

	status, _ = c.raw("GET", rm+"/projects/"+s.ProjectID, nil, c.token)
	if status != http.StatusOK {
		t.Errorf("get project: expected 200, found %d", status)
	}
	status, body = c.raw("GET", rm+"/organizations/other", nil, c.token)
	wantError(t, "another organization", status, body, http.StatusForbidden, registry.CodePermissionDenied)
}
