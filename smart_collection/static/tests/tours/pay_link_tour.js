/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("smart_collection_pay_link", {
    steps: () => [
        {
            content: "The page shows the amount due",
            trigger: "#collection_amount_due",
        },
        {
            content: "Choose the demo payment method",
            trigger: "input[name='o_payment_radio'][data-provider-code='demo']",
            run: "click",
        },
        {
            content: "Fill the demo card details",
            trigger: "input[name='customer_input']",
            run: "edit 4242424242424242",
        },
        {
            content: "Pay",
            trigger: "button[name='o_payment_submit_button']:enabled",
            run: "click",
        },
        {
            content: "Back on the pay page, the invoice is paid",
            trigger: "#collection_pay_paid",
            timeout: 30000,
        },
    ],
});
