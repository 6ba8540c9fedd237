# The integration block of .web-docs/metadata.hcl, the file the Packer
# integrations portal reads. `make generate` copies it there and adds one
# component block per page in docs/builders, docs/provisioners,
# docs/post-processors and docs/datasources: list components there, not here.
# Fields: https://github.com/hashicorp/integration-template#metadata-configuration
# identifier ("packer/ORG/NAME") is derived from the module path,
# github.com/ORG/packer-plugin-NAME; set it only if yours differs.
integration {
  name        = "Scaffolding"
  description = "A working example of every Packer component type, with an acceptance-test harness that runs them through a real Packer."
  # The builder and the copy post-processor publish image metadata to HCP
  # Packer (their artifacts answer par.artifact.metadata). Drop the flag if
  # yours do not.
  flags = ["hcp-ready"]
  docs {
    process_docs    = true
    readme_location = "./README.md"
    external_url    = "https://github.com/example/packer-plugin-scaffolding"
  }
  license {
    type = "MPL-2.0"
    url  = "https://github.com/example/packer-plugin-scaffolding/blob/main/LICENSE"
  }
}
