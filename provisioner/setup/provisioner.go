package setup

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Provisioner is the `provisioner "scaffolding"`.
type Provisioner struct {
	config   Config
	settings settings

	// wait, when set, replaces the real pause between two tries (sleep), so
	// unit tests neither sleep nor depend on the clock.
	wait func(ctx context.Context, d time.Duration) bool
}

var _ packersdk.Provisioner = (*Provisioner)(nil)

// ConfigSpec returns the HCL spec of the provisioner's configuration.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

// Prepare decodes and validates the configuration.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	s, err := p.config.prepare(raws...)
	if err != nil {
		return err
	}
	p.settings = s
	return nil
}

// Provision uploads the files, then runs the inline commands. ctx carries
// Packer's own `timeout` for the provisioner, if any.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	if generatedData == nil {
		generatedData = map[string]interface{}{}
	}
	ictx := p.config.ctx
	ictx.Data = generatedData

	for i, f := range p.config.Files {
		field := fmt.Sprintf("file[%d]", i)
		if err := p.upload(ctx, ui, comm, &ictx, i, f); err != nil {
			return p.failure(ctx, field, err)
		}
	}

	env, err := p.envPrefix(&ictx)
	if err != nil {
		return err
	}
	for i, raw := range p.config.Inline {
		field := fmt.Sprintf("inline[%d]", i)
		cmd, err := interpolate.RenderOnce(raw, &ictx)
		if err != nil {
			return fmt.Errorf("%s: rendering %q: %w", field, raw, err)
		}
		ui.Say(fmt.Sprintf("Running: %s", cmd))
		err = p.retry(ctx, ui, func(ctx context.Context) error {
			// The machine ends the try itself (see inMachineTimeout); the
			// local deadline, a little later, only catches a communicator
			// that never reports back.
			tryCtx, cancel := context.WithTimeout(ctx, p.settings.commandTimeout+timeoutGrace)
			defer cancel()
			line := env + cmd
			if posixMachine(generatedData) {
				line = inMachineTimeout(line, p.settings.commandTimeout)
			}
			err := runCommand(tryCtx, ui, comm, line, cmd)
			var exit *ExitError
			timedOut := errors.As(err, &exit) && exit.Status == timeoutStatus ||
				err != nil && ctx.Err() == nil && errors.Is(tryCtx.Err(), context.DeadlineExceeded)
			if timedOut {
				return fmt.Errorf("command %q did not finish within command_timeout (%s)", cmd, p.config.CommandTimeout)
			}
			return err
		})
		if err != nil {
			return p.failure(ctx, field, err)
		}
	}
	return nil
}

// failure names the field that failed and, when the build's context cut it
// short, says so.
func (p *Provisioner) failure(ctx context.Context, field string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%s: %w (%w)", field, err, ctxErr)
	}
	return fmt.Errorf("%s: %w", field, err)
}

// upload puts file[i] into the machine.
func (p *Provisioner) upload(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, ictx *interpolate.Context, i int, f FileConfig) error {
	// Build data is rendered once, here: rendering twice would also expand
	// template syntax that the data itself happens to contain.
	dst, err := interpolate.RenderOnce(f.Destination, ictx)
	if err != nil {
		return fmt.Errorf("destination: rendering %q: %w", f.Destination, err)
	}
	mode := p.settings.modes[i]

	if f.Source == "" {
		content, err := interpolate.RenderOnce(f.Content, ictx)
		if err != nil {
			return fmt.Errorf("content: rendering: %w", err)
		}
		if mode == 0 {
			mode = 0o644
		}
		ui.Say(fmt.Sprintf("Uploading content (%d bytes) => %s", len(content), dst))
		return p.retry(ctx, ui, func(context.Context) error {
			if err := makeDir(ctx, comm, path.Dir(dst)); err != nil {
				return err
			}
			var fi os.FileInfo = contentInfo{name: path.Base(dst), size: int64(len(content)), mode: mode}
			return comm.Upload(dst, strings.NewReader(content), &fi)
		})
	}

	if p.settings.dirs[i] {
		ui.Say(fmt.Sprintf("Uploading directory %s => %s", f.Source, dst))
		return p.retry(ctx, ui, func(context.Context) error {
			if err := makeDir(ctx, comm, strings.TrimSuffix(dst, "/")); err != nil {
				return err
			}
			return comm.UploadDir(dst, f.Source, nil)
		})
	}

	if strings.HasSuffix(dst, "/") {
		dst += filepath.Base(f.Source)
	}
	ui.Say(fmt.Sprintf("Uploading %s => %s", f.Source, dst))
	return p.retry(ctx, ui, func(context.Context) error {
		if err := makeDir(ctx, comm, path.Dir(dst)); err != nil {
			return err
		}
		// Reopened on every try: a failed try may have consumed the reader.
		src, err := os.Open(f.Source)
		if err != nil {
			return err
		}
		defer func() { _ = src.Close() }() // read-only: Close cannot lose data
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		if mode != 0 {
			fi = modeOverride{FileInfo: fi, mode: mode}
		}
		return comm.Upload(dst, src, &fi)
	})
}

// envPrefix renders env into a shell prefix that exports every variable to
// the whole command line, `a && b` included.
func (p *Provisioner) envPrefix(ictx *interpolate.Context) (string, error) {
	if len(p.config.Env) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteString("export")
	for _, k := range slices.Sorted(maps.Keys(p.config.Env)) {
		v, err := interpolate.RenderOnce(p.config.Env[k], ictx)
		if err != nil {
			// The value may be a secret: name only the key.
			return "", fmt.Errorf("env[%q]: rendering the value: %w", k, err)
		}
		b.WriteString(" " + k + "=" + shellQuote(v))
	}
	b.WriteString("; ")
	return b.String(), nil
}

// makeDir creates dir (and its parents) on the machine, so a `file` block
// may name a destination whose directory does not exist yet: the SDK's SSH
// communicator (SCP and SFTP alike) wants it to exist.
func makeDir(ctx context.Context, comm packersdk.Communicator, dir string) error {
	if dir == "" || dir == "." || dir == "/" {
		return nil
	}
	cmd := &packersdk.RemoteCmd{Command: "mkdir -p " + shellQuote(dir)}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := comm.Start(ctx, cmd); err != nil {
		return fmt.Errorf("creating directory %s: %w", dir, err)
	}
	if status := cmd.Wait(); status != 0 {
		return fmt.Errorf("creating directory %s: mkdir exited with status %d: %s", dir, status, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// timeoutStatus is the exit status of a command that `timeout -s KILL`
// ended: 128 + SIGKILL.
const timeoutStatus = 137

// timeoutGrace is how much longer than command_timeout the provisioner
// waits for the machine to report a try it has ended.
const timeoutGrace = 15 * time.Second

// inMachineTimeout wraps line so the machine itself ends it after d. The
// SDK's communicators run remote commands with context.TODO(): a deadline
// on this side returns, but leaves the command running on the machine, so
// a retry would overlap the try that timed out. GNU coreutils' (and
// busybox's) `timeout` runs the command in a process group of its own and
// kills the whole group, so when the try reports back nothing of it is
// left; only processes that left the group (setsid, daemons) survive, until
// the instance stops.
//
// A machine without timeout(1) (macOS's workspace) runs the command as it
// is, bounded only by the local deadline.
func inMachineTimeout(line string, d time.Duration) string {
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	return "if command -v timeout >/dev/null 2>&1; then timeout -s KILL " + secs +
		" /bin/sh -c " + shellQuote(line) + "; else exec /bin/sh -c " + shellQuote(line) + "; fi"
}

// posixMachine reports whether commands reach a POSIX shell, from the
// communicator type Packer passes in the build data: not over WinRM, and
// not through the workspace communicator on a Windows build host (cmd /C).
func posixMachine(generatedData map[string]interface{}) bool {
	switch generatedData["ConnType"] {
	case "winrm":
		return false
	case "workspace":
		return runtime.GOOS != "windows"
	}
	return true
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special except the single quote itself, which is closed, escaped and
// reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// retry runs fn once plus `retries` more times while it fails, waiting
// retry_delay between two tries (never after the last one) and stopping as
// soon as ctx ends, also in the middle of a wait.
//
// It does not use the SDK's retry.Config, which sleeps after the last try
// too and cannot be interrupted while it sleeps.
func (p *Provisioner) retry(ctx context.Context, ui packersdk.Ui, fn func(context.Context) error) error {
	delay := p.settings.retryDelay
	wait := sleep
	if p.wait != nil {
		wait = p.wait
	}
	tries := p.config.Retries + 1
	var err error
	attempt := 0
	for attempt < tries {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if err == nil {
				err = ctxErr
			}
			break
		}
		if attempt > 0 {
			ui.Say(fmt.Sprintf("Retrying (try %d of %d)", attempt+1, tries))
		}
		attempt++
		if err = fn(ctx); err == nil {
			return nil
		}
		if attempt == tries || ctx.Err() != nil {
			break
		}
		log.Printf("[INFO] try %d of %d failed, next in %s: %v", attempt, tries, delay, err)
		if !wait(ctx, delay) {
			break
		}
	}
	if attempt > 1 {
		return fmt.Errorf("%w (after %d tries)", err, attempt)
	}
	return err
}

// sleep waits for d or until ctx ends, and reports whether it waited the
// whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ExitError is returned when a command exits non-zero.
type ExitError struct {
	// Command is the command as the user wrote it (rendered), without the
	// environment prefix, whose values may be secrets.
	Command string
	// Status is the exit status.
	Status int
}

func (e *ExitError) Error() string {
	if e.Status == packersdk.CmdDisconnect {
		return fmt.Sprintf("command %q: the communicator disconnected before it finished", e.Command)
	}
	return fmt.Sprintf("command %q exited with status %d", e.Command, e.Status)
}

// runCommand runs line in the machine, streaming its output to ui. shown is
// what errors call the command.
func runCommand(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, line, shown string) error {
	cmd := &packersdk.RemoteCmd{Command: line}
	if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
		return fmt.Errorf("command %q: %w", shown, err)
	}
	if status := cmd.ExitStatus(); status != 0 {
		return &ExitError{Command: shown, Status: status}
	}
	return nil
}

// contentInfo describes inline content to the communicator, which may use
// the mode for the file it creates.
type contentInfo struct {
	name string
	size int64
	mode os.FileMode
}

func (c contentInfo) Name() string       { return c.name }
func (c contentInfo) Size() int64        { return c.size }
func (c contentInfo) Mode() os.FileMode  { return c.mode }
func (c contentInfo) ModTime() time.Time { return time.Time{} }
func (c contentInfo) IsDir() bool        { return false }
func (c contentInfo) Sys() interface{}   { return nil }

// modeOverride reports the configured mode instead of the source file's.
type modeOverride struct {
	os.FileInfo
	mode os.FileMode
}

func (m modeOverride) Mode() os.FileMode { return m.mode }
