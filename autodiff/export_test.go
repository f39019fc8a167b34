package autodiff

// SetChainJoints turns the joint chain through batch rules and joinable
// primitives on or off (see chainJoints) and returns a function that
// restores the previous setting. Tests that call it must not run in
// parallel.
func SetChainJoints(on bool) (restore func()) {
	prev := chainJoints
	chainJoints = on
	return func() { chainJoints = prev }
}
