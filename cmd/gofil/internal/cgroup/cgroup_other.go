//go:build !linux

package cgroup

import "errors"

var errNotLinux = errors.New("cannot create a memory cgroup: cgroups exist only on Linux")

// Group is a memory cgroup created by New; outside Linux there are none.
type Group struct{}

// New fails outside Linux.
//
//	g, err := cgroup.New("run1", 64<<20) // err: cgroups exist only on Linux
func New(name string, limitBytes uint64) (*Group, error) { return nil, errNotLinux }

// Available reports why New fails outside Linux.
//
//	err := cgroup.Available()
func Available() error { return errNotLinux }

// Path returns "".
func (g *Group) Path() string { return "" }

// Version returns 0.
func (g *Group) Version() int { return 0 }

// AddPID fails outside Linux.
func (g *Group) AddPID(pid int) error { return errNotLinux }

// OOMKills fails outside Linux.
func (g *Group) OOMKills() (uint64, error) { return 0, errNotLinux }

// Remove does nothing.
func (g *Group) Remove() error { return nil }

// StartInside is not available outside Linux.
func (g *Group) StartInside(start func() error) error { return errNotLinux }

// OOMKillsIn is not available outside Linux.
func OOMKillsIn(dir string) (uint64, error) { return 0, errNotLinux }
