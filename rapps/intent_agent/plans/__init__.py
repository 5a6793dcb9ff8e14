"""Plans: ranked slice-share plans with assumptions, expected KPI impact, rollback conditions, explanation."""
