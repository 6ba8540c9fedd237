package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/example/packer-plugin-scaffolding/acctest/registry"
	"github.com/example/packer-plugin-scaffolding/internal/atomicfile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hcp-registry:", err)
		os.Exit(1)
	}
}

// channelFlags collects repeated -channel bucket/channel values.
type channelFlags [][2]string

func (c *channelFlags) String() string {
	parts := make([]string, 0, len(*c))
	for _, bc := range *c {
		parts = append(parts, bc[0]+"/"+bc[1])
	}
	return strings.Join(parts, ",")
}

func (c *channelFlags) Set(v string) error {
	bucket, channel, ok := strings.Cut(v, "/")
	if !ok || bucket == "" || channel == "" {
		return fmt.Errorf("%q: want bucket/channel", v)
	}
	*c = append(*c, [2]string{bucket, channel})
	return nil
}

// run starts the emulator, prints its environment and serves until ctx is
// done; then it prints the recorded state and closes the emulator.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hcp-registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 0, "API port on 127.0.0.1 (0 picks a free one)")
	authPort := fs.Int("auth-port", 0, "token endpoint (HTTPS) port on 127.0.0.1 (0 picks a free one)")
	envFile := fs.String("env-file", "", "also write the export lines to this file")
	stateFile := fs.String("state-file", "", "on exit, write the recorded state here instead of to stdout")
	quiet := fs.Bool("quiet", false, "do not log requests")
	lookup := fs.Bool("lookup", false, "leave HCP_ORGANIZATION_ID and HCP_PROJECT_ID out of the exports: Packer looks them up, as with only credentials")
	var channels channelFlags
	fs.Var(&channels, "channel", "create bucket/channel before Packer runs, for `channels` in hcp_packer_registry (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for name, p := range map[string]int{"-port": *port, "-auth-port": *authPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s %d: must be between 0 and 65535", name, p)
		}
	}

	srv := registry.NewUnstartedServer()
	srv.Addr = "127.0.0.1:" + strconv.Itoa(*port)
	srv.AuthAddr = "127.0.0.1:" + strconv.Itoa(*authPort)
	logger := log.New(stderr, "", log.Ltime)
	if !*quiet {
		srv.OnRequest = func(r registry.Request) { logger.Print(describe(r)) }
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()

	made := map[string]bool{}
	for _, bc := range channels {
		if !made[bc[0]] {
			if err := srv.AddBucket(bc[0]); err != nil {
				return fmt.Errorf("-channel %s/%s: %w", bc[0], bc[1], err)
			}
			made[bc[0]] = true
		}
		if err := srv.SetChannel(bc[0], bc[1], ""); err != nil {
			return fmt.Errorf("-channel %s/%s: %w", bc[0], bc[1], err)
		}
	}

	// The file first: whoever waits for the lines on stdout may read it next.
	env := srv.EnvMap()
	if *lookup {
		delete(env, "HCP_ORGANIZATION_ID")
		delete(env, "HCP_PROJECT_ID")
	}
	exports := exportLines(env)
	if *envFile != "" {
		if err := atomicfile.WriteFile(*envFile, []byte(exports), 0o600); err != nil {
			return fmt.Errorf("-env-file: %w", err)
		}
	}
	if _, err := fmt.Fprint(stdout, exports); err != nil {
		return fmt.Errorf("printing the exports: %w", err)
	}
	logger.Printf("HCP Packer registry emulator: API %s, token endpoint %s, state at %s/_emulator/state; Ctrl-C to stop",
		srv.URL, srv.AuthURL, srv.URL)

	<-ctx.Done()
	logger.Print("stopping")
	srv.Close()

	state, err := json.MarshalIndent(srv.State(), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the recorded state: %w", err)
	}
	state = append(state, '\n')
	if *stateFile != "" {
		if err := atomicfile.WriteFile(*stateFile, state, 0o600); err != nil {
			return fmt.Errorf("-state-file: %w", err)
		}
		logger.Printf("recorded state written to %s", *stateFile)
		return nil
	}
	_, err = stdout.Write(state)
	return err
}

// exportLines renders the environment as POSIX shell export lines, sorted.
func exportLines(env map[string]string) string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(env[k]))
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// describe is one log line per request: the operation, the call, the answer,
// and for build updates the status Packer sent.
func describe(r registry.Request) string {
	path := shortPath(r.Path)
	line := fmt.Sprintf("%-26s %s %s -> %d", r.Op, r.Method, path, r.Status)
	if r.Status == 0 {
		line = fmt.Sprintf("%-26s %s %s -> abandoned by the client", r.Op, r.Method, path)
	}
	if r.Op == registry.OpUpdateBuild || r.Op == registry.OpCreateBuild {
		var body struct {
			Status string `json:"status"`
		}
		if json.Unmarshal([]byte(r.Body), &body) == nil && body.Status != "" {
			line += " " + body.Status
		}
	}
	if r.Fault {
		line += " (injected fault)"
	}
	return line
}

// shortPath drops the organization and project part of API paths, which is
// the same on every line.
func shortPath(p string) string {
	const marker = "/projects/"
	i := strings.Index(p, marker)
	if !strings.HasPrefix(p, "/packer/") || i < 0 {
		return p
	}
	rest := p[i+len(marker):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return "..." + rest[j:]
	}
	return p
}
