// Package cli implements the linesight command line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// serialized makes Out and Err safe for the goroutines of a command (the
// appliance's logger and the command's own output): writes to them take one
// lock, so streams that are not files (a buffer, a pipe wrapper) and a
// shared Out and Err stay whole.
func (s Stdio) serialized() Stdio {
	mu := &sync.Mutex{}
	if s.Out != nil {
		s.Out = &lockedWriter{mu: mu, w: s.Out}
	}
	if s.Err != nil {
		s.Err = &lockedWriter{mu: mu, w: s.Err}
	}
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// command is one subcommand: its name path ("model synth"), a one-line
// summary, and the function that parses its flags and runs it.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io Stdio) error
}

func commands() []command {
	return []command{
		{"model synth", "write a model bundle with seeded random weights at a preset size", modelSynth},
		{"model import", "convert a Hugging Face CLIPModel checkpoint into a model bundle", modelImport},
		{"model tokenize", "print the CLIP token ids of each line on stdin, as JSON", modelTokenize},
		{"model preprocess", "write images as CLIP input tensors (float32 CHW, little-endian)", modelPreprocess},
		{"model embed", "print image and text embeddings as JSON", modelEmbed},
		{"model digest", "print the digest of each variant of a bundle, as `model install --digest` checks it", modelDigest},
		{"model install", "install a model bundle at the configured model path, checked against its digest; the previous one is kept", modelInstall},
		{"model rollback", "go back to the model bundle the last install replaced", modelRollback},
		{"model distill", "train a smaller student bundle on the line's images to give a teacher's image embeddings (needs PyTorch: an offline tool)", modelDistill},
		{"model anomaly", "print anomaly maps of images against golden samples and/or class prompts, as JSON", modelAnomaly},
		{"classify", "zero-shot classify images against text prompts", classify},
		{"run", "run the appliance: cameras, inspection, verdicts", runAppliance},
		{"serve", "answer other appliances' escalated frames with this model", serveEscalations},
		{"bench models", "measure every variant of a bundle: size, memory, speed, agreement with fp32", benchModels},
		{"bench", "measure the whole loop against the bare vision session on the same model", bench},
		{"trigger", "ask a running appliance to inspect a part on a triggered camera; --wait prints its verdict", triggerPart},
		{"inspect", "inspect image files with the configured defect classes; one JSON verdict per image", inspectImages},
		{"eval", "measure the defect classes on a labelled dataset (MVTec AD layout), or the verdicts on the journal's labelled records (--journal)", evalDataset},
		{"dataset synth", "write labelled pictures of the synthetic line with defect masks (MVTec AD layout)", datasetSynth},
		{"demo-image", "write a generated image of a part, for trying the model", demoImage},
		{"journal export", "export journaled inspections of a time range as CSV or JSON lines", journalExport},
		{"journal stats", "print inspection counters (yield, outcomes, cameras, classes) for a time range", journalStats},
		{"journal rescore", "score stored embeddings with another defect-class file; report what would change", journalRescore},
		{"journal check", "check a journal file for damage, page by page, without opening it with bbolt", journalCheck},
		{"journal recover", "copy the readable records of a damaged journal out as JSON lines", journalRecover},
		{"user add", "add a dashboard user or reset one's password and role (password on stdin)", userAdd},
		{"backup", "back up the configuration, defect classes, users and golden samples (--with-images: the journal too)", backupData},
		{"restore", "restore a backup, checked against its manifest first; refused while the appliance runs", restoreData},
		{"factory-reset", "wipe the data directory after a typed confirmation; the firmware and configuration stay", factoryReset},
		{"recipe", "print the recipes of the running appliance, or change the active one (recipe NAME)", recipeCmd},
		{"update install", "install a signed firmware bundle (file or URL) into the other root slot with RAUC; it starts at the next reboot", updateInstall},
		{"update gate", "mark the running root slot good once the appliance is ready and inspecting (the health gate after an update)", updateGate},
		{"update history", "print the firmware update history: versions, when, who, outcome", updateHistory},
		{"firstboot", "create the dashboard's first admin; print its one-time password (the box's first boot, as root)", firstBoot},
		{"golden add", "add images as golden samples (good parts) of a class set", goldenAdd},
		{"golden list", "list a class set's golden samples, its bank's status and threshold", goldenList},
		{"golden remove", "remove golden samples of a class set by id", goldenRemove},
		{"check-config", "validate the appliance configuration, its defect-class file and model bundle", checkConfig},
		{"version", "print the version", version},
	}
}

// errUsage marks an error already explained by printed usage.
var errUsage = errors.New("usage")

// Run runs the command named by args and returns the process exit status.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	stdio = stdio.serialized()
	cmds := commands()
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "-h"}
	}
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(ctx, args[len(words):], stdio)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stdio.Err, "linesight %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	// A group's name alone, or with a word that is none of its commands:
	// show the group's commands.
	if len(args) > 0 {
		if group := groupOf(cmds, args[0]); len(group) > 0 {
			fmt.Fprintf(stdio.Err, "Usage: linesight %s COMMAND [flags]\n\nCommands:\n", args[0])
			listCommands(stdio.Err, group)
			fmt.Fprintf(stdio.Err, "\nRun `linesight %s COMMAND -h` for a command's flags.\n", args[0])
			switch {
			case len(args) > 1 && isHelp(args[1]):
				return 0
			case len(args) == 1:
				fmt.Fprintf(stdio.Err, "\n%q needs a command\n", args[0])
			default:
				fmt.Fprintf(stdio.Err, "\nunknown command %q\n", strings.Join(args[:2], " "))
			}
			return 2
		}
	}
	usage(stdio.Err, cmds)
	if len(args) == 0 || args[0] == "help" || isHelp(args[0]) {
		return 0
	}
	fmt.Fprintf(stdio.Err, "\nunknown command %q\n", strings.Join(args, " "))
	return 2
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// groupOf lists the commands whose name has more than one word and begins
// with word ("model" gives model synth, model import, ...).
func groupOf(cmds []command, word string) []command {
	var group []command
	for _, c := range cmds {
		if first, _, sub := strings.Cut(c.name, " "); sub && first == word {
			group = append(group, c)
		}
	}
	return group
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "linesight: visual inspection with CLIP\n\nUsage: linesight COMMAND [flags] [arguments]\n\nCommands:")
	listCommands(w, cmds)
	fmt.Fprintln(w, "\nRun `linesight COMMAND -h` for a command's flags. Flags may come before or after\narguments; `--` ends the flags. `linesight --version` prints the version.")
}

func listCommands(w io.Writer, cmds []command) {
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, stdio Stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("linesight "+name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	return fs
}

// parse parses flags wherever they stand among the arguments, as Go users
// expect (`inspect DIR --out f.jsonl`); `--` ends the flags, and a lone `-`
// is an argument. A bad flag maps to errUsage (the flag package has already
// printed why). fs.Args() holds the arguments afterwards, in order.
func parse(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// The flag package stops at the first argument, or after a "--"
		// that it consumes: then everything left is an argument.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Leave the arguments where fs.Args() returns them.
	return fs.Parse(append([]string{"--"}, positional...))
}

// parseNoArgs parses a command that takes flags only, refusing arguments
// at once rather than ignoring them.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s takes flags only; unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// strings collects a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func logger(stdio Stdio) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("LINESIGHT_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: level}))
}

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "dev"

func version(_ context.Context, _ []string, stdio Stdio) error {
	fmt.Fprintf(stdio.Out, "linesight %s\n", Version)
	return nil
}
