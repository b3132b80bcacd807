"""leadscore: lead scoring with evidence. One subpackage per layer (README: How the code is
laid out); nothing runs at import."""

__version__ = "0.1.0"
