# Builds the "base" image from nothing: an empty instance, a few files and
# commands, snapshotted into the store. The app template builds on top of it.

packer {
  required_version = ">= 1.13.0"
  required_plugins {
    scaffolding = {
      # ">= 0.1.0" also matches a local `make dev` build (0.1.0-dev): Packer
      # compares the core version and ignores the "dev" suffix.
      version = ">= 0.1.0"
      source  = "github.com/example/scaffolding"
    }
  }
}

variable "store" {
  type        = string
  description = "Directory of the image store that images are registered in."
}

source "scaffolding" "base" {
  store      = var.store
  region     = "local"
  image_name = "base"
  image_labels = {
    os   = "tinylinux"
    tier = "base"
  }
}

# Read only when the HCP Packer registry is enabled (make example points
# Packer at the local registry emulator). A top-level block (Packer 1.13+):
# inside `build` it still works but is deprecated.
hcp_packer_registry {
  bucket_name = "example-base"
  description = "Base image of the scaffolding example pipeline."
  bucket_labels = {
    team = "platform"
  }
  build_labels = {
    pipeline = "example"
  }
}

build {
  sources = ["source.scaffolding.base"]

  provisioner "scaffolding" {
    file {
      destination = "/etc/os-release"
      # build.* values are rendered by the provisioner at build time.
      content = "NAME=tinylinux\nIMAGE=${build.ImageName}\nRUN=${build.PackerRunUUID}\n"
    }
    inline = [
      "mkdir -p /var/log",
      "echo base > /etc/role",
    ]
  }

  # Packer's own provisioners work too: the instance is a machine reached
  # over SSH, so absolute paths are the instance's.
  provisioner "shell" {
    environment_vars = ["ROLE=base"]
    inline = [
      "echo \"provisioned by packer's shell as $(id -un), role $ROLE\" > /etc/motd",
    ]
  }
}
