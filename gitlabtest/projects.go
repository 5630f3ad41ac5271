package gitlabtest

// matchContainers routes the project, group and snippet listings and
// lookups; nil means none matched.
func (s *Server) matchContainers(c *call, segs []string) map[string]handler {
	return nil
}
