package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == writeStoreCommand {
		if err := writeStore(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "benchcompare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

type options struct {
	work         string
	keep         bool
	rounds       int
	only         string
	packer       string
	plugin       string
	address      string
	lookupSizes  []int
	lookupRounds int
}

func run() error {
	var o options
	var sizes string
	flag.StringVar(&o.work, "work", "", "working directory (default: a new temporary directory, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds of the archive figures; each round runs every command once, in alternating order")
	flag.StringVar(&o.only, "only", "archive,lookup", "which figures to measure: archive, lookup or both")
	flag.StringVar(&o.packer, "packer", "", "the packer binary (needed for lookup)")
	flag.StringVar(&o.plugin, "plugin", "", "the built plugin binary (needed for lookup)")
	flag.StringVar(&o.address, "plugin-address", "", "the plugin's address for `packer plugins install`, e.g. github.com/example/scaffolding")
	flag.StringVar(&sizes, "lookup-sizes", "10,1000,10000,100000", "store sizes (images) for the lookup figure; under 100 it is the floor, any data source's cost")
	// A build takes about 0.2 s and varies by a tenth from run to run on a
	// shared two-core machine: medians of 3 rounds put one figure anywhere
	// from 0.89x to 1.10x, too wide for goals of 1.1x.
	flag.IntVar(&o.lookupRounds, "lookup-rounds", 11, "rounds of each lookup figure")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.rounds < 1 || o.lookupRounds < 1 {
		return errors.New("-rounds and -lookup-rounds must be at least 1")
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-lookup-sizes: %q is not a positive number", s)
		}
		o.lookupSizes = append(o.lookupSizes, n)
	}
	want := map[string]bool{}
	for _, f := range strings.Split(o.only, ",") {
		switch f = strings.TrimSpace(f); f {
		case "archive", "lookup":
			want[f] = true
		default:
			return fmt.Errorf("-only: unknown figure %q (archive, lookup)", f)
		}
	}
	if want["lookup"] && (o.packer == "" || o.plugin == "" || o.address == "") {
		return errors.New("the lookup figure needs -packer, -plugin and -plugin-address")
	}

	if o.work == "" {
		dir, err := os.MkdirTemp("", "benchcompare-")
		if err != nil {
			return err
		}
		o.work = dir
		if !o.keep {
			defer func() { _ = os.RemoveAll(dir) }()
			// Interrupted, it still removes the ~400 MB it wrote.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			go func() {
				<-sig
				_ = os.RemoveAll(dir)
				os.Exit(1)
			}()
		}
	} else if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(o.work)
	if err != nil {
		return err
	}
	o.work = abs

	// The plugin is installed (copied) first, so rebuilding it while the
	// figures run does not change what is measured.
	var p *packerEnv
	if want["lookup"] {
		if p, err = newPackerEnv(o); err != nil {
			return err
		}
	}
	if want["archive"] {
		if err := archiveFigures(o); err != nil {
			return fmt.Errorf("archive figures: %w", err)
		}
	}
	if want["lookup"] {
		if err := lookupFigures(o, p); err != nil {
			return fmt.Errorf("lookup figures: %w", err)
		}
	}
	return nil
}
