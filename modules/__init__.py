"""vipexec.modules: the ImagePatch / VideoSegment API, backends and the synthetic world."""
