from django.core.management.base import BaseCommand

from lifemsg.demo import data
from lifemsg.demo.seed import demo_password, seed


class Command(BaseCommand):
    help = "Load the demo organisation, staff in every role, citizens with cases and threads (idempotent)."

    def handle(self, *args, **options):
        created = seed(self.stdout)
        if created:
            summary = ", ".join(f"{n} {key}" for key, n in sorted(created.items()))
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {summary}."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        password, source = demo_password()
        self.stdout.write("")
        self.stdout.write("Demo logins (staff: /logga-in/, citizens: /medborgare/logga-in/):")
        self.stdout.write(f"  password for every staff account: {password}   (from {source})")
        self.stdout.write("  handläggare:      " + ", ".join(u[0] for u in data.HANDLERS[:3]) + ", …")
        self.stdout.write("  enhetschef:       " + ", ".join(u[0] for u in data.MANAGERS[:2]) + ", …")
        for username, _first, _last, role in data.OFFICE:
            self.stdout.write(f"  {role.lower()}: {username}")
        self.stdout.write(
            "  citizen (test e-ID): " + ", ".join(f"{c[0][:8]}-{c[0][8:]}" for c in data.CITIZENS[:3])
        )
