source "null" "bench" {
  communicator = "none"
}

build {
  sources = ["source.null.bench"]
  provisioner "fixture" {
    say = "benchmark build"
  }
}
