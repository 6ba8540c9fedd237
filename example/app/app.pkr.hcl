# Builds the "app" image on top of the newest "base" image, then copies it to
# two more regions. Run the base template first.

packer {
  required_version = ">= 1.13.0"
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

hcp_packer_registry {
  bucket_name = "example-app"
  description = "The example application, built on the base image."
  build_labels = {
    pipeline    = "example"
    app_version = var.app_version
  }
}

build {
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
      "sh /opt/app/install.sh",
    ]
  }

  # Packer's own file and shell provisioners, beside the plugin's.
  provisioner "file" {
    source      = "${path.root}/files/app/README.txt"
    destination = "/etc/app/README.txt"
  }

  provisioner "shell" {
    environment_vars = ["APP_VERSION=${var.app_version}"]
    inline = [
      "grep -q \"version=$APP_VERSION\" /etc/app/app.conf",
      "echo \"app $APP_VERSION checked by packer's shell\" >> /var/log/install.log",
    ]
  }

  # And back: the install log, downloaded beside the store (example/.work).
  provisioner "file" {
    direction   = "download"
    source      = "/var/log/install.log"
    destination = "${var.store}/../install.log"
  }

  post-processor "scaffolding-copy" {
    regions = ["eu-west", "ap-south"]
  }
}
