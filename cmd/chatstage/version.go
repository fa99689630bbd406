package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// version, when set at link time (-ldflags "-X main.version=v1.2.3"),
// is printed as it is; otherwise the build information says it.
var version = ""

func runVersion(_ context.Context, e *env, args []string) error {
	cl := e.newCmdline("version", "version", "chatstage version", false)
	rest, err := cl.parse(args)
	if err != nil {
		return err
	}
	if err := cl.noArgs(rest); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	fmt.Fprintf(e.stdout, "chatstage %s\n", versionString(version, bi))
	return nil
}

// versionString says which chatstage this is: the module's version (a tag,
// or the pseudo-version go build derives from the commit), the commit and
// whether the tree had changes, from the information Go records in every
// binary (go version -m shows the same).
func versionString(linked string, bi *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if bi == nil {
		return "dev (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var details []string
	if rev := settings["vcs.revision"]; rev != "" {
		details = append(details, "commit "+rev[:min(12, len(rev))])
		if settings["vcs.modified"] == "true" {
			details = append(details, "with uncommitted changes")
		}
		if t := settings["vcs.time"]; t != "" {
			details = append(details, t)
		}
	} else {
		details = append(details, "no commit recorded: built by go run, with -buildvcs=false, or outside a git checkout")
	}
	if bi.GoVersion != "" {
		details = append(details, bi.GoVersion)
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}
