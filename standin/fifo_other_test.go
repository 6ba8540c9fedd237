//go:build !unix

package standin

import "errors"

func mkfifo(string) error { return errors.New("not supported") }
