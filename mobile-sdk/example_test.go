package mobilesdk_test

import (
	"fmt"
	"os"
	"time"

	mobilesdk "elicense/mobile-sdk"
)

// A phone app opens the wallet with the holder's PIN, claims a licence
// with the code the agency handed out, and shows a QR that it refreshes.
func Example() {
	w, err := mobilesdk.Open(os.Getenv("HOME")+"/wallet", "246810")
	if err != nil {
		fmt.Println(err)
		return
	}
	lic, err := w.Claim("https://issuer.example.gov.cn", "0000-1A7K-3QM9-PX2R-TB8W")
	if err != nil {
		fmt.Println(err) // errors.Is(err, mobilesdk.ErrClaimRefused) for a used code
		return
	}
	for {
		p, err := w.Present(lic.ID, "domicile", 0) // disclose one optional field
		if err != nil {
			fmt.Println(err)
			return
		}
		png, _ := mobilesdk.QRPNG(p.Text, 4)
		_ = png // show it
		time.Sleep(time.Until(time.Unix(p.RefreshAt, 0)))
	}
}

// Licences are listed by index, as gomobile binds no slices of structs.
func ExampleWallet_List() {
	w, err := mobilesdk.OpenStorage(mobilesdk.NewMemoryStorage(), "246810")
	if err != nil {
		fmt.Println(err)
		return
	}
	l, _ := w.List()
	for i := int64(0); i < l.Len(); i++ {
		fmt.Println(l.At(i).ID, l.At(i).HolderName)
	}
	fmt.Println(l.Len(), "licences,", l.Damaged(), "damaged")
	// Output: 0 licences, 0 damaged
}
