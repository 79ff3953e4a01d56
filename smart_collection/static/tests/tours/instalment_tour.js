/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smart_collection_instalments", {
    steps: () => [
        {
            content: "The pay page offers instalments",
            trigger: "#collection_instalment_choose",
        },
        {
            content: "Choose three instalments",
            trigger: "select#collection_instalment_count",
            run: "select 3",
        },
        {
            content: "See the schedule",
            trigger: "#collection_instalment_preview",
            run: "click",
        },
        {
            content: "The schedule has three lines",
            trigger: "#collection_instalment_schedule tbody tr:nth-child(3)",
        },
        {
            content: "Confirm the plan",
            trigger: "#collection_instalment_confirm",
            run: "click",
        },
        {
            content: "The plan is confirmed and the first instalment can be paid",
            trigger: "#collection_instalment_created",
        },
        {
            content: "The plan shows its three instalments",
            trigger: "#collection_instalment_plan .collection_instalment_line_3",
        },
        {
            content: "Pay the first instalment",
            trigger: "#collection_instalment_pay",
        },
    ],
});
