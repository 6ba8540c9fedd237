package acctest

// TmpDir is the run's TMPDIR, shared by Packer and the plugins it starts.
// Components that create scratch space in the system temp directory create
// it here, so a check can assert that a build removed what it made.
func (r *Run) TmpDir() string { return r.tmpDir }
