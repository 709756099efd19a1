package bridge

// ServesAccount reports whether an agent stream on this replica serves the
// account (tests observe fencing with it).
func (s *Server) ServesAccount(name string) bool {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	st := s.reg.accounts[name]
	return st != nil && st.session != nil
}
