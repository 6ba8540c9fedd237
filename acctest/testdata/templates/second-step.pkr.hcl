# Step 2 of TestAccHarness_stepsShareWorkDir: first_id comes from step 1's
# artifact (set by PreBuild), suffix from PKR_VAR_suffix (Step.Env).
variable "first_id" {
  type = string
}

variable "suffix" {
  type = string
}

source "null" "a" {
  communicator = "none"
}

build {
  sources = ["source.null.a"]
  post-processor "fixture-digest" {
    output  = "second.txt"
    content = "${var.first_id} ${var.suffix}"
  }
}
