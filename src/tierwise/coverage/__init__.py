"""Coverage: who to visit, who to call, how often and by whom, under the field force's capacity."""
