"""leadscore: lead scoring with evidence. One module per stage; nothing runs at import."""

__version__ = "0.1.0"
