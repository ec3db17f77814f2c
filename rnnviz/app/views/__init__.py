"""One module per view; each exposes ``render(ctx: ViewContext) -> None`` and reads nothing else."""
