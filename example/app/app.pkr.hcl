# Builds the "app" image on top of the newest "base" image, then copies it to
# two more regions. Run the base template first.

packer {
  required_plugins {
    scaffolding = {
      version = ">= 0.1.0"
      source  = "github.com/example/scaffolding"
    }
  }
}

variable "store" {
  type        = string
  description = "Directory of the image store that images are registered in."
}

variable "app_version" {
  type    = string
  default = "1.0.0"
}

# Finds the newest image called "base" with the label tier=base: what the
# amazon-ami data source does for AMIs.
data "scaffolding-image" "base" {
  store  = var.store
  region = "local"
  name   = "base"
  labels = {
    tier = "base"
  }
}

source "scaffolding" "app" {
  store        = var.store
  region       = "local"
  image_name   = "app"
  source_image = data.scaffolding-image.base.id
  image_labels = {
    os   = "tinylinux"
    tier = "app"
    app  = var.app_version
  }
}

build {
  hcp_packer_registry {
    bucket_name = "example-app"
    description = "The example application, built on the base image."
    build_labels = {
      pipeline    = "example"
      app_version = var.app_version
    }
  }

  sources = ["source.scaffolding.app"]

  provisioner "scaffolding" {
    file {
      source      = "${path.root}/files/app/"
      destination = "/opt/app"
    }
    env = {
      APP_VERSION = var.app_version
    }
    inline = [
      "sh opt/app/install.sh",
    ]
  }

  post-processor "scaffolding-copy" {
    regions = ["eu-west", "ap-south"]
  }
}
