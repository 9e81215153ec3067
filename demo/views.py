"""Demo pages that use the capture script exactly as an advertiser's site would."""

from flask import Blueprint, redirect, render_template, url_for

from demo.seed import seed_command

bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")
bp.cli.add_command(seed_command)


@bp.get("/")
def landing():
    """Show the landing page an ad click arrives on."""
    return render_template("demo/landing.html")


@bp.get("/form")
def form():
    """Show the lead form on a second page."""
    return render_template("demo/form.html")


@bp.get("/thanks")
def thanks():
    """Show the page a demo lead lands on after submitting."""
    return render_template("demo/thanks.html")


@bp.record_once
def add_root_redirect(state) -> None:
    state.app.add_url_rule("/", "demo_root", lambda: redirect(url_for("demo.landing")))
