"""Joint reviews, agendas, action items and governance health (to come)."""
