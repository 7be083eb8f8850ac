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
        for username, first, last, units in data.HANDLERS:
            self.stdout.write(f"  handläggare       {username:<20} {first} {last} ({', '.join(units)})")
        for username, first, last, unit in data.MANAGERS:
            self.stdout.write(f"  enhetschef        {username:<20} {first} {last} ({unit})")
        for username, first, last, role in data.OFFICE:
            self.stdout.write(f"  {role.lower():<17} {username:<20} {first} {last}")
        for pnr, first, last, protected in data.CITIZENS:
            note = " (skyddad identitet)" if protected else ""
            self.stdout.write(f"  medborgare        {pnr[:8]}-{pnr[8:]:<11} {first} {last}{note}")
