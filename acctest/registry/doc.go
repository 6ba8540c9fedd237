// Package registry runs a local emulator of the HCP Packer registry API that
// Packer talks to during `packer build` and in its HCP data sources, records
// what Packer sent, and can make chosen calls fail or stall.
//
// It keeps the service's rules where Packer can see them: version statuses
// (VERSION_INCOMPLETE for builds that never ran), revocation with channel
// rollback and inherited revocation of descendants, the resource-manager
// lookups of the organization and project, the 2021-04-30 routes of the
// deprecated data sources, and faults that leave the state the service
// would leave. docs/registry-emulator.md describes each rule.
package registry
